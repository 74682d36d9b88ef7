"""The key manager: Barbican v1 at /key-manager, over a key hierarchy (master KEK → project KEK → DEK)."""
