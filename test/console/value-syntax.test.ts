// The editor's syntax checks, formatting and detection (pure logic; the editor itself is tested in Chromium).
import { describe, expect, it } from "vitest";
import { checkSyntax, detectSyntax, formatSyntax } from "../../console/src/editor/value-syntax.js";

describe("checkSyntax", () => {
  it("names the first JSON problem with its line and column, without the engine's own position wording", () => {
    const p = checkSyntax('{\n  "a": 1,,\n}', "json")!;
    expect([p.line, p.column, p.from]).toEqual([2, 10, 11]);
    expect(p.message).toMatch(/^Not valid JSON: /);
    expect(p.message).not.toMatch(/position|line \d/);
    expect(checkSyntax('{"a": [1, 2]}', "json")).toBeUndefined();
  });

  it("names YAML problems from the yaml parser", () => {
    const p = checkSyntax("a:\n  b: 1\n c: [x\n", "yaml")!;
    expect(p.message).toMatch(/^Not valid YAML: /);
    expect(p.line).toBeGreaterThanOrEqual(3);
    expect(checkSyntax("a:\n  - 1\n  - {b: c}\n", "yaml")).toBeUndefined();
  });

  it("accepts pairs of hex digits and refuses other characters and odd counts", () => {
    expect(checkSyntax("de ad\nbe ef", "hex")).toBeUndefined();
    expect(checkSyntax("de az", "hex")).toMatchObject({ message: 'Not hex: "z" is not a hex digit', line: 1, column: 5 });
    expect(checkSyntax("dea", "hex")?.message).toMatch(/odd number/);
    expect(checkSyntax("anything {", "text")).toBeUndefined();
  });
});

describe("formatSyntax", () => {
  it("indents JSON by two and lays YAML out in the yaml package's style; refuses invalid input", () => {
    expect(formatSyntax('{"a":[1,2],"b":{}}', "json")).toBe('{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}');
    expect(formatSyntax("a:    1\nb:\n    - x\n", "yaml")).toBe("a: 1\nb:\n  - x\n");
    expect(() => formatSyntax("{", "json")).toThrow();
    expect(() => formatSyntax("a: [x\n", "yaml")).toThrow();
  });
});

describe("detectSyntax", () => {
  it("reads objects and arrays as JSON, block mappings and sequences as YAML, prose as text, non-UTF-8 as hex", () => {
    expect(detectSyntax('{"a":1}')).toBe("json");
    expect(detectSyntax("[1, 2]")).toBe("json");
    expect(detectSyntax("server:\n  port: 80\n")).toBe("yaml");
    expect(detectSyntax("- a\n- b\n")).toBe("yaml");
    expect(detectSyntax("---\nname: x\n")).toBe("yaml");
    expect(detectSyntax("key: value")).toBe("text");
    expect(detectSyntax("Dear operator,\nthe disk is full.")).toBe("text");
    expect(detectSyntax("{not json")).toBe("text");
    expect(detectSyntax(undefined)).toBe("hex");
  });
});
