"""Makes tests/ a package so tests/conftest.py is imported once (as tests.conftest): the plan cache it holds is
then shared by the fixtures and by modules that import its helpers directly (from tests.conftest import planned)."""
