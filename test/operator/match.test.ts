import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchesDesired } from "../../src/operator/match.ts";

describe("matchesDesired", () => {
  const desired = {
    name: "plugin",
    image: "img:1",
    args: ["plugins/echo/main.ts"],
    ports: [{ containerPort: 50051 }],
  };

  it("ignores what the API server adds, and numbers that come back as strings", () => {
    const live = {
      ...desired,
      imagePullPolicy: "IfNotPresent",
      terminationMessagePath: "/dev/termination-log",
      ports: [{ containerPort: "50051", protocol: "TCP" }],
    };
    assert.equal(matchesDesired(live, desired), true);
  });

  it("sees a changed value, a list of another length and a missing field", () => {
    assert.equal(matchesDesired({ ...desired, image: "img:2" }, desired), false);
    assert.equal(matchesDesired({ ...desired, args: [] }, desired), false);
    const { image: _image, ...withoutImage } = desired;
    assert.equal(matchesDesired(withoutImage, desired), false);
  });

  it("sees command, args or env left on the live object after the spec dropped them", () => {
    assert.equal(matchesDesired({ ...desired, command: ["node"] }, desired), false);
    assert.equal(matchesDesired({ ...desired, env: [{ name: "A", value: "1" }] }, desired), false);
    const { args: _args, ...withoutArgs } = desired;
    assert.equal(matchesDesired(desired, withoutArgs), false);
    // An empty list is the same as none.
    assert.equal(matchesDesired({ ...desired, command: [] }, desired), true);
  });
});
