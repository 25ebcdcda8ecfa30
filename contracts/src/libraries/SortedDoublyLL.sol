// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SortedDoublyLL
/// @notice A list of addresses sorted by key, descending (head = largest). Insertion is O(1) with a correct
/// (prev, next) hint and walks from the hint, or from the head, when the hint is stale.
library SortedDoublyLL {
    struct Node {
        uint256 key;
        address nextId;
        address prevId;
    }

    struct Data {
        address head;
        address tail;
        uint256 size;
        mapping(address id => Node) nodes;
    }

    function contains(Data storage self, address id) internal view returns (bool) {
        // Every member has a non-zero key (stake), so an empty node means "not a member".
        return self.nodes[id].key != 0;
    }

    function getKey(Data storage self, address id) internal view returns (uint256) {
        return self.nodes[id].key;
    }

    function getNext(Data storage self, address id) internal view returns (address) {
        return self.nodes[id].nextId;
    }

    function insert(Data storage self, address id, uint256 key, address prevId, address nextId) public {
        require(id != address(0), "id is null address");
        require(key != 0, "key is zero");
        require(!contains(self, id), "node already in list");
        (prevId, nextId) = _findInsertPosition(self, key, prevId, nextId);
        Node storage node = self.nodes[id];
        node.key = key;
        node.prevId = prevId;
        node.nextId = nextId;
        if (prevId == address(0)) self.head = id;
        else self.nodes[prevId].nextId = id;
        if (nextId == address(0)) self.tail = id;
        else self.nodes[nextId].prevId = id;
        self.size += 1;
    }

    function remove(Data storage self, address id) public {
        require(contains(self, id), "node not in list");
        Node memory node = self.nodes[id];
        if (node.prevId == address(0)) self.head = node.nextId;
        else self.nodes[node.prevId].nextId = node.nextId;
        if (node.nextId == address(0)) self.tail = node.prevId;
        else self.nodes[node.nextId].prevId = node.prevId;
        delete self.nodes[id];
        self.size -= 1;
    }

    /// @dev Re-sorts `id` under `newKey`; when its neighbours still bracket the new key, only the key changes.
    function updateKey(Data storage self, address id, uint256 newKey, address prevId, address nextId) public {
        Node memory node = self.nodes[id];
        if (
            (node.prevId == address(0) || self.nodes[node.prevId].key >= newKey)
                && (node.nextId == address(0) || newKey >= self.nodes[node.nextId].key)
        ) {
            self.nodes[id].key = newKey;
            return;
        }
        remove(self, id);
        insert(self, id, newKey, prevId, nextId);
    }

    function _validInsertPosition(Data storage self, uint256 key, address prevId, address nextId) private view returns (bool) {
        if (prevId == address(0) && nextId == address(0)) return self.size == 0;
        if (prevId == address(0)) return self.head == nextId && key >= self.nodes[nextId].key;
        if (nextId == address(0)) return self.tail == prevId && key <= self.nodes[prevId].key;
        return self.nodes[prevId].nextId == nextId && self.nodes[prevId].key >= key && key >= self.nodes[nextId].key;
    }

    function _findInsertPosition(Data storage self, uint256 key, address prevId, address nextId)
        private
        view
        returns (address, address)
    {
        if (_validInsertPosition(self, key, prevId, nextId)) return (prevId, nextId);
        if (prevId != address(0) && contains(self, prevId) && key <= self.nodes[prevId].key) {
            return _descend(self, key, prevId);
        }
        if (nextId != address(0) && contains(self, nextId) && key >= self.nodes[nextId].key) {
            return _ascend(self, key, nextId);
        }
        return _descend(self, key, self.head);
    }

    function _descend(Data storage self, uint256 key, address start) private view returns (address, address) {
        if (start == address(0)) return (address(0), address(0)); // empty list
        if (self.head == start && key >= self.nodes[start].key) return (address(0), start);
        address prevId = start;
        address nextId = self.nodes[prevId].nextId;
        while (prevId != address(0) && !_validInsertPosition(self, key, prevId, nextId)) {
            prevId = self.nodes[prevId].nextId;
            nextId = self.nodes[prevId].nextId;
        }
        return (prevId, nextId);
    }

    function _ascend(Data storage self, uint256 key, address start) private view returns (address, address) {
        if (self.tail == start && key <= self.nodes[start].key) return (start, address(0));
        address nextId = start;
        address prevId = self.nodes[nextId].prevId;
        while (nextId != address(0) && !_validInsertPosition(self, key, prevId, nextId)) {
            nextId = self.nodes[nextId].prevId;
            prevId = self.nodes[nextId].prevId;
        }
        return (prevId, nextId);
    }
}
