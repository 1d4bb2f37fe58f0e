"""Reading what GitHub, GitLab, MLflow and any CI send into ``SignalEvent``s, and checking who sent it.

Pure: a payload (already JSON-decoded) and the source's settings in, events or a ``PayloadError``
naming the field out. The signature checks take the raw bytes and the time.
"""
