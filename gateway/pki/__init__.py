"""The development PKI (`nsw pki init`): certificates and CRLs made with `cryptography`."""
