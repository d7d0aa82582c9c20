"""Custom Rasa components and input channels of the service desk (loaded by the Rasa server)."""
