"""The customer's side of a conversation: one message in, the answers out.

`engine.Engine.handle` runs a turn as one unit of work; `dialog` decides what to answer at the
conversation's step (with `clarify`, `selfservice`, `order_replies` and `replies`); `state`
holds the steps, the typed slots and the changes of step the operators' desk makes; `turn`
holds what one message leads to before anything is written; `manners` spots insults;
`outcomes` records what the bot solved by itself. (`core.buttons` names the payloads of the
buttons the bot puts on its replies.)
"""
