import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BoundedQueue, RingQueue, type Eviction } from "../../src/router/ring-queue.ts";

function drain<T>(queue: { shift(): T | undefined }): T[] {
  const items: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) items.push(item);
  return items;
}

describe("RingQueue", () => {
  test("first in, first out across growth and wrap-around", () => {
    const queue = new RingQueue<number>();
    assert.equal(queue.shift(), undefined);
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps before the buffer grows past 16, then 32, then 64.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 3; i++) {
        queue.push(next);
        expected.push(next++);
      }
      assert.equal(queue.shift(), expected.shift());
      assert.equal(queue.length, expected.length);
    }
    assert.deepEqual(drain(queue), expected);
    assert.equal(queue.length, 0);
  });

  test("clear empties and says how many it held", () => {
    const queue = new RingQueue<string>();
    for (const item of ["a", "b", "c"]) queue.push(item);
    assert.equal(queue.clear(), 3);
    assert.equal(queue.length, 0);
    queue.push("d");
    assert.deepEqual(drain(queue), ["d"]);
  });
});

describe("BoundedQueue", () => {
  const item = (name: string, bytes: number) => ({ name, bytes });
  type Item = ReturnType<typeof item>;

  function queue(maxItems: number, maxBytes: number) {
    const evicted: [string, Eviction][] = [];
    const q = new BoundedQueue<Item>({ maxItems, maxBytes }, (it, why) => evicted.push([it.name, why]));
    return { q, evicted };
  }

  test("within both bounds nothing is evicted", () => {
    const { q, evicted } = queue(3, 30);
    q.push(item("a", 10));
    q.push(item("b", 10));
    q.push(item("c", 10));
    assert.deepEqual([q.length, q.bytes, evicted], [3, 30, []]);
    assert.deepEqual(
      drain(q).map((it) => it.name),
      ["a", "b", "c"],
    );
    assert.equal(q.bytes, 0);
  });

  test("the count bound evicts the oldest, one per push", () => {
    const { q, evicted } = queue(2, 1_000);
    for (const name of ["a", "b", "c", "d"]) q.push(item(name, 1));
    assert.deepEqual(evicted, [
      ["a", "overflow"],
      ["b", "overflow"],
    ]);
    assert.deepEqual([q.length, q.bytes], [2, 2]);
  });

  test("the byte bound evicts as many of the oldest as it takes", () => {
    const { q, evicted } = queue(100, 30);
    q.push(item("a", 10));
    q.push(item("b", 10));
    q.push(item("c", 10));
    q.push(item("big", 25));
    assert.deepEqual(evicted, [
      ["a", "overflow-bytes"],
      ["b", "overflow-bytes"],
      ["c", "overflow-bytes"],
    ]);
    assert.deepEqual([q.length, q.bytes], [1, 25]);
    // Exactly at the bound is within it.
    q.push(item("five", 5));
    assert.deepEqual([q.length, q.bytes, evicted.length], [2, 30, 3]);
  });

  test("an item larger than the whole byte bound is refused and the queue kept", () => {
    const { q, evicted } = queue(100, 30);
    q.push(item("a", 10));
    q.push(item("huge", 31));
    assert.deepEqual(evicted, [["huge", "overflow-bytes"]]);
    assert.deepEqual([q.length, q.bytes], [1, 10]);
    q.push(item("exact", 20));
    assert.deepEqual([q.length, q.bytes], [2, 30]);
    // An item the size of the whole bound fits, alone.
    q.push(item("whole", 30));
    assert.deepEqual([q.length, q.bytes], [1, 30]);
    assert.equal(evicted.length, 3);
  });

  test("tighter bounds evict at once, by count then by bytes; looser ones evict nothing", () => {
    const { q, evicted } = queue(10, 100);
    for (const name of ["a", "b", "c", "d"]) q.push(item(name, 10));
    q.setBounds({ maxItems: 3, maxBytes: 20 });
    assert.deepEqual(evicted, [
      ["a", "overflow"],
      ["b", "overflow-bytes"],
    ]);
    assert.deepEqual([q.length, q.bytes], [2, 20]);
    q.setBounds({ maxItems: 10, maxBytes: 100 });
    assert.equal(evicted.length, 2);
    q.setBounds({ maxItems: 2, maxBytes: 20 });
    assert.equal(evicted.length, 2);
  });

  test("clear hands every item over, oldest first, and resets the bytes", () => {
    const { q, evicted } = queue(10, 100);
    for (const name of ["a", "b", "c"]) q.push(item(name, 7));
    const handed: string[] = [];
    assert.equal(
      q.clear((it) => handed.push(it.name)),
      3,
    );
    assert.deepEqual(handed, ["a", "b", "c"]);
    assert.deepEqual([q.length, q.bytes, evicted], [0, 0, []]);
    assert.equal(q.shift(), undefined);
    assert.equal(q.bytes, 0);
  });
});
