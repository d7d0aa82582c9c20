"""Custom Rasa components and input channels of the service desk.

Rasa imports this package (for the tokenizer) in every process that serves or
trains the model, so phone numbers are masked in the Rasa server's own logs
(user texts are logged at DEBUG) from here.
"""

from tickets.privacy import install_log_masking

install_log_masking()
