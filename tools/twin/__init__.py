"""Live twins of both targets on this machine, built from the program's own plan (see README, "Twins")."""
