# The protocol contracts: build, deploy, test, gas report. The top-level Makefile includes this file and
# defines PY (the virtual environment's python), VENV and the node_modules/.stamp and $(VENV)/stamp targets.
ETH_RPC_URL ?= http://127.0.0.1:8545

.PHONY: contracts deploy-contracts test-contracts gas-report

## contracts: compile contracts/src with the pinned solcjs (skipped when the sources' hash is unchanged; any warning fails)
contracts: | node_modules/.stamp
	node contracts/build.mjs

## deploy-contracts: deploy and wire everything on ETH_RPC_URL (default: local Anvil, which must be running)
deploy-contracts: contracts | $(VENV)/stamp
	ETH_RPC_URL=$(ETH_RPC_URL) $(PY) -m contracts.deploy

## test-contracts: pytest on a private Anvil (one per session, snapshot/revert per test)
test-contracts: contracts | $(VENV)/stamp
	$(PY) -m pytest tests/contracts -q

## gas-report: print gas for bond, unbond, reward, transcoder updates (100 and 1000 pools) and ticket redemption
gas-report: contracts | $(VENV)/stamp
	$(PY) bench/gas_report.py
