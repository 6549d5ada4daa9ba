import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { nestsDeeperThan } from "../../src/ingress/json-depth.ts";

const deeper = (text: string, limit: number) => nestsDeeperThan(Buffer.from(text), limit);

/** The depth JSON.parse's result has, computed the slow, obvious way. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe("nestsDeeperThan", () => {
  it("counts objects and arrays, not brackets inside strings or escaped quotes", () => {
    assert.equal(deeper('{"a":[{"b":1}]}', 3), false);
    assert.equal(deeper('{"a":[{"b":1}]}', 2), true);
    assert.equal(deeper('{"a":"[[[[[[{{{{"}', 1), false);
    assert.equal(deeper('{"a":"say \\"[[[[\\" twice"}', 1), false);
    // An escaped backslash ends the string: the brackets after it are real.
    assert.equal(deeper('{"a":"\\\\","b":[[[1]]]}', 3), true);
    assert.equal(deeper('{"a":"\\\\\\"[[[["}', 1), false);
  });

  it("stops at an unterminated string without reading past the end", () => {
    assert.equal(deeper('{"a":"[[[[[[', 1), false);
    assert.equal(deeper('[[["\\', 2), true);
  });

  it("agrees with the parsed depth for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        const text = JSON.stringify(value);
        assert.equal(deeper(text, limit), depthOf(value) > limit, text);
      }),
      { numRuns: 2_000 },
    );
  });
});
