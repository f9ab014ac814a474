"""The pipectl collector: takes clickstream events over HTTP and batches them into Kinesis or S3.

Its own package and image (collector/Dockerfile); the ingestion stacks run it on ECS, and on the
local target `pipectl up` runs it as a process. Settings come from the environment (README.md).
"""
