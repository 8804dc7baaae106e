"""Tests of tools/python/moto_serialized.py's changes to moto's DynamoDB backend (gaps 3 and 4
of its docstring), called in process: no server, no network.

    .venv/bin/python -m unittest tools/python/test_moto_serialized.py
"""

import copy
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import moto_serialized  # noqa: E402,F401  (its import applies the changes)
from moto.dynamodb.exceptions import (  # noqa: E402
    MultipleTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402


def create_table(backend, name, key_names):
    """An on-demand table in `backend` keyed by `key_names` (hash, then range), strings."""
    backend.create_table(
        name,
        schema=[
            {"AttributeName": n, "KeyType": kind}
            for n, kind in zip(key_names, ["HASH", "RANGE"])
        ],
        attr=[{"AttributeName": n, "AttributeType": "S"} for n in key_names],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=[],
        global_indexes=[],
        streams=None,
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class TransactionsTest(unittest.TestCase):
    def setUp(self):
        self.backend = DynamoDBBackend("us-east-1", "123456789012")
        create_table(self.backend, "t", ["pk", "sk"])
        self.backend.put_item("t", {**key("a", "1"), "v": {"N": "1"}})
        self.backend.put_item("t", {**key("a", "2"), "v": {"N": "2"}})

    def table(self):
        """Every item of the table, as DynamoDB JSON, in key order."""
        items = self.backend.tables["t"].items
        return sorted(
            (str(item.to_json()) for partition in items.values() for item in partition.values())
        )

    def writes(self):
        return [
            {"Put": {"TableName": "t", "Item": key("a", "3")}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": key("a", "1"),
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "9"}},
                }
            },
            {"Delete": {"TableName": "t", "Key": key("a", "2")}},
        ]

    def test_a_cancelled_transaction_leaves_every_item_as_it_was(self):
        before = self.table()
        failing_check = {
            "ConditionCheck": {
                "TableName": "t",
                "Key": key("b", "1"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        with self.assertRaises(TransactionCanceledException):
            self.backend.transact_write_items(self.writes() + [failing_check])
        self.assertEqual(self.table(), before)

    def test_a_refused_transaction_undoes_the_operations_applied_before_the_refusal(self):
        before = self.table()
        twice = {"Put": {"TableName": "t", "Item": key("a", "3")}}
        with self.assertRaises(MultipleTransactionsException):
            self.backend.transact_write_items(self.writes() + [twice])
        self.assertEqual(self.table(), before)

    def test_a_transaction_that_succeeds_applies_every_operation(self):
        self.backend.transact_write_items(self.writes())
        items = self.table()
        self.assertEqual(len(items), 2)
        self.assertIn("'v': {'N': '9'}", items[0])
        self.assertIn("'sk': {'S': '3'}", items[1])

    def test_a_transaction_makes_no_copy_of_the_table(self):
        copies = []
        original = Table.__deepcopy__

        def counting(table, memo):
            result = original(table, memo)
            copies.append(result is not table)
            return result

        Table.__deepcopy__ = counting
        try:
            self.backend.transact_write_items(self.writes())
        finally:
            Table.__deepcopy__ = original
        self.assertTrue(copies, "moto made no backup at all: the test would prove nothing")
        self.assertNotIn(True, copies)

    def test_a_table_deep_copied_elsewhere_is_a_copy(self):
        table = self.backend.tables["t"]
        copied = copy.deepcopy(table)
        self.assertIsNot(copied, table)
        self.backend.delete_item("t", key("a", "1"))
        self.assertEqual(len(copied.items[DynamoType({"S": "a"})]), 2)
        self.assertEqual(len(table.items[DynamoType({"S": "a"})]), 1)


class TrackingTest(unittest.TestCase):
    def test_model_objects_are_not_kept_by_moto(self):
        self.assertEqual(len(Table.instances_tracked), 0)
        create_table(DynamoDBBackend("us-east-1", "123456789012"), "u", ["pk"])
        self.assertEqual(len(Table.instances_tracked), 0)


if __name__ == "__main__":
    unittest.main()
