"""Each stack's tests, by the stack's name: test_<stack>.py holds its values from the architecture guide.

Values come from the templates specialised to each environment (conditions evaluated, parameters
substituted), so a test fails if either a template or a config file drifts. Where this repository
departs from the guide on purpose, the test asserts our value and says why; the README lists them all.
"""
