"""`python -m actions`: the action server, started with its start-up hooks.

rasa-sdk's own command line (`python -m rasa_sdk --actions actions`) with two steps first: every log line of the
process is scrubbed of phone numbers and openids, and the catalogue search snapshot is built in the background so
the first search does not pay for it.
"""

import threading

from rasa_sdk.__main__ import main

import privacy
from catalog_index import columns

if __name__ == "__main__":
    privacy.install_log_masking()
    threading.Thread(target=columns.warm, name="search-snapshot", daemon=True).start()
    main()
