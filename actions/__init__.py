"""The rasa-sdk action server: one module per capability.

Actions stay thin: the business logic lives in `catalog_index`, `tickets` and
`knowledge`, which the actions call in-process.
"""
