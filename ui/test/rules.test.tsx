// "What we never collect" groups the anonymizer's rules. A built-in rule must never be shown as one of the
// user's own, and a rule the anonymizer gains later must still land in a group that describes it.
import { expect, it } from "vitest";

import { readRules } from "../src/model";
import { call } from "./service";

const groupOf = (groups: ReturnType<typeof readRules>, id: string) => groups.find((g) => g.rules.some((r) => r.id === id))?.id;

it("puts every rule of the real service in a group of its kind, none under 'Your own rules'", async () => {
  const raw = (await call("rules")) as { id: string; builtin: boolean }[];
  expect(raw.length).toBeGreaterThan(20);
  expect(raw.every((r) => r.builtin)).toBe(true); // the test service has no privacy settings of its own
  const groups = readRules(raw);
  expect(groups.map((g) => g.id)).not.toContain("custom");
  expect(groups.flatMap((g) => g.rules).length).toBe(raw.length);
  for (const id of ["value.email", "value.iban", "value.national_id", "value.host", "text.name"]) {
    expect(groupOf(groups, id)).toBe("text");
  }
  expect(groupOf(groups, "value.unsupported_type")).toBe("trimmed");
});

it("shows the user's own patterns as theirs, whatever their name, and an unknown built-in rule apart", () => {
  const rule = (id: string, builtin?: boolean) => ({ id, description: id, marker: `<${id}>`, kind: "value", builtin });
  const groups = readRules([rule("ticket", false), rule("key.project", false), rule("value.new_detector"), rule("novel.kind")]);
  expect(groupOf(groups, "ticket")).toBe("custom");
  expect(groupOf(groups, "key.project")).toBe("custom");
  expect(groupOf(groups, "value.new_detector")).toBe("text");
  expect(groupOf(groups, "novel.kind")).toBe("other");
});
