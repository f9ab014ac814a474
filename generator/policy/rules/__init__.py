"""The project's policy rules, run by cfn-lint on every template `pipectl validate` checks.

One rule per module (cfn-lint loads every module here whose name does not start with `_`);
shared helpers live in `_template.py`, the actions that cannot be scoped in `unscoped_actions.py`.
"""
