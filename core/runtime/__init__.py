"""What keeps a running bot going, whatever the messenger.

`intake` stores every update before it is acknowledged and applies it in order;
`delivery` sends the outbox; `liveness` is this process's heartbeat among replicas;
`retry` rides out outages; `metrics` exports Prometheus figures; `files` fetches a file's
bytes from the channel it came from; `learning` keeps the intent model in step across
processes.
"""
