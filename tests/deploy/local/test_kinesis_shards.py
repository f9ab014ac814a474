"""The local target's Kinesis under concurrent writers: no record lost (moto alone numbers a shard's
records unlocked; see compat.make_kinesis_shards_safe)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from generator.deploy.local import local_session

REGION = "eu-west-1"


def test_concurrent_put_records_to_one_shard_keep_every_record(moto_url: str) -> None:
    kinesis = local_session(moto_url, REGION).client("kinesis")
    kinesis.create_stream(StreamName="concurrent", ShardCount=1)

    def put(writer: int) -> list[str]:
        records = [{"Data": f"{writer}-{i}".encode(), "PartitionKey": "same"} for i in range(500)]
        answer = local_session(moto_url, REGION).client("kinesis").put_records(StreamName="concurrent", Records=records)
        assert answer["FailedRecordCount"] == 0
        return [r["SequenceNumber"] for r in answer["Records"]]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(put, range(8)) for n in batch]
    assert len(set(numbers)) == len(numbers) == 4000
    shard = kinesis.list_shards(StreamName="concurrent")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="concurrent", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    stored = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    assert sorted(r["Data"] for r in stored) == sorted(f"{w}-{i}".encode() for w in range(8) for i in range(500))
