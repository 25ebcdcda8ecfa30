"""The local stack creates the stage resources of resources.json, and starts and stops as a whole."""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.auth.apikeys import hash_api_key
from chalicelib.core.resources import definitions
from devstack import aws
from devstack.chain import rpc
from devstack.net import free_port
from devstack.stack import LocalStack

PUMP_APP_DIR = Path(__file__).resolve().parent / "pump_app"


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


@pytest.fixture(scope="module")
def provisioned(endpoint: str) -> aws.StageResources:
    aws.provision("t1", ["gateway"], endpoint)
    aws.provision("t1-orch", ["orchestrator"], endpoint)
    return aws.provision("t1", ["gateway"], endpoint)  # twice: idempotent


def client(endpoint: str, service: str) -> Any:
    return aws.client(aws.session(), service, endpoint)


def test_queues_have_their_dlq_redrive_and_visibility(endpoint: str, provisioned: aws.StageResources) -> None:
    sqs = client(endpoint, "sqs")
    qdef = definitions().queues["results"]
    attrs = sqs.get_queue_attributes(QueueUrl=provisioned.queues["results"].url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == str(qdef.visibility_timeout)
    redrive = json.loads(attrs["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == qdef.max_receive_count
    assert redrive["deadLetterTargetArn"].endswith(":lp-t1-results-dlq")
    policy = json.loads(attrs["Policy"])["Statement"][0]
    assert policy["Principal"] == {"Service": "s3.amazonaws.com"} and policy["Action"] == "sqs:SendMessage"
    jobs = sqs.get_queue_url(QueueName="lp-t1-orch-jobs")["QueueUrl"]
    jobs_attrs = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["All"])["Attributes"]
    assert jobs_attrs["VisibilityTimeout"] == str(definitions().queues["jobs"].visibility_timeout)
    names = [u.rsplit("/", 1)[-1] for u in sqs.list_queues(QueueNamePrefix="lp-t1-")["QueueUrls"]]
    assert "lp-t1-jobs" not in names  # an orchestrator queue is not a gateway's


def test_tables_have_their_keys_and_indexes(endpoint: str, provisioned: aws.StageResources) -> None:
    ddb = client(endpoint, "dynamodb")
    streams = ddb.describe_table(TableName="lp-t1-streams")["Table"]
    assert streams["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in streams["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"byStreamKey", "byPlaybackId"}
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in indexes.values())
    segments = ddb.describe_table(TableName="lp-t1-segments")["Table"]
    assert {k["KeyType"]: k["AttributeName"] for k in segments["KeySchema"]} == {"HASH": "streamId", "RANGE": "seq"}


def test_bucket_notifies_the_results_queue_once_configured(endpoint: str, provisioned: aws.StageResources) -> None:
    s3, sqs = client(endpoint, "s3"), client(endpoint, "sqs")
    url = provisioned.queues["results"].url
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # Provisioning twice wrote the notification once: a single TestEvent.
    assert [json.loads(m["Body"]).get("Event") for m in messages] == ["s3:TestEvent"]
    s3.put_object(Bucket="lp-t1-media", Key="results/s/1.json", Body=b"{}")
    s3.put_object(Bucket="lp-t1-media", Key="segments/s/1.ts", Body=b"x")  # filtered out
    body = json.loads(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"][0]["Body"])
    assert body["Records"][0]["s3"]["object"]["key"] in ("results/s/1.json", "results%2Fs%2F1.json")
    time.sleep(0.2)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("devstack")
    with LocalStack.on_free_ports(state, app_dir=PUMP_APP_DIR, workers=False) as running:
        yield running


def test_local_stack_serves_every_stage(stack: LocalStack) -> None:
    for url in [stack.gateway_url, *stack.orchestrator_urls.values()]:
        with urllib.request.urlopen(f"{url}/hello", timeout=5) as response:
            assert json.loads(response.read()) == {"hello": "world"}
    assert all(p.alive for p in stack.status())


def test_local_stack_registers_the_dev_api_key(stack: LocalStack) -> None:
    table = stack.session().resource("dynamodb", endpoint_url=stack.endpoint_url).Table("lp-dev-apikeys")
    assert table.get_item(Key={"keyHash": hash_api_key(stack.api_key)})["Item"]["name"] == "devstack"


def test_local_stack_gives_each_stage_its_key_and_the_gateway_its_orchestrators(stack: LocalStack) -> None:
    state_file = stack.state_dir / "state.json"
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    gateway = stack.env_for("dev")
    orchestrators = json.loads(gateway["LP_ORCHESTRATORS"])
    assert [o["url"] for o in orchestrators] == list(stack.orchestrator_urls.values())
    assert [o["address"] for o in orchestrators] == [stack.address_of(s) for s in stack.orchestrator_urls]
    keys = {stack.env_for(s.name)["LP_ETH_PRIVATE_KEY"] for s in stack.stages}
    assert len(keys) == 3
    assert json.loads(stack.env_for("orch-a")["LP_ROLES"]) == ["orchestrator"]


def test_a_stopped_stack_leaves_nothing_running(tmp_path: Path) -> None:
    stack = LocalStack.on_free_ports(tmp_path, orchestrator_stages=(), app_dir=PUMP_APP_DIR, workers=False)
    stack.start()
    pids = [p.pid for p in stack.status()]
    # Another process (``python -m devstack down``) stops it from the state file alone.
    LocalStack.from_state(tmp_path).stop()
    assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in pids)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(stack.gateway_url, timeout=1)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_the_stack_with_a_chain_runs_anvil_with_the_protocol_deployed(tmp_path: Path) -> None:
    stack = LocalStack.on_free_ports(
        tmp_path, orchestrator_stages=(), app_dir=PUMP_APP_DIR, workers=False, chain=True, chain_port=free_port()
    )
    with stack:
        deployment = json.loads(stack.deployment_file.read_text())
        names = set(deployment["contracts"])
        assert {"Controller", "LivepeerToken", "BondingManager", "TicketBroker", "RoundsManager"} <= names
        code = rpc(stack.chain_url, "eth_getCode", deployment["contracts"]["TicketBroker"]["address"], "latest")
        assert len(code) > 1000  # the broker's runtime bytecode is there
        assert stack.env_for("dev")["LP_DEPLOYMENT_FILE"] == str(stack.deployment_file)
        # Blocks keep coming while nothing happens, so rounds advance.
        first = rpc(stack.chain_url, "eth_blockNumber")
        time.sleep(2.5)
        assert int(rpc(stack.chain_url, "eth_blockNumber"), 16) >= int(first, 16) + 2
        pid = next(p.pid for p in stack.status() if p.name == "anvil")
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
