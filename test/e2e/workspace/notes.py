# scratch file for the toggle and manual-trigger tests
x = 1
