"""The volume service's host side: the storage driver (drivers/) that creates, copies and deletes volumes."""
