"""Test infrastructure shared by unit and integration tests (fixtures live in tests/conftest.py)."""
