"""The shop's knowledge base, read from `config/knowledge/`: the intents (`intents`), the
answers and every text the bot says (`base`, `texts`), and sub-cases with their own answers
(`subcases`); `folding` is how typed words are compared with the files' words."""
