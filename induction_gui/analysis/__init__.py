"""Qt-free analysis floor: every number the app shows, declared once, memoized by revision."""
