"""The local stack: AWS (moto), API Gateway (the front) and Lambda's event sources (the pump).

See ``docs/local-stack.md``. ``LocalStack`` starts it all; ``python -m devstack up`` does it from
the command line.
"""
