"""The one error a twin reports: a single line naming the component (and its log file when it has one)."""


class TwinError(Exception):
    pass
