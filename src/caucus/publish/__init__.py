"""Publishing releases: snapshot documents (a pure function of the released records and the plan), the NIST
SP 1500-100 v2 export, snapshot files on disk with a manifest and an atomically moved ``latest`` pointer,
and verification of a published release. Nothing here reads the ledger.
"""
