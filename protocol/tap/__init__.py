"""The card-tap authentication model (DESIGN.md §3): transaction, challenge, events, assertion, authenticator session and verifier logic. Sans-I/O."""
