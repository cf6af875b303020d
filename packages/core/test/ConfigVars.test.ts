import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import type * as Config from "effect/Config"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as fc from "fast-check"

const read = <A>(config: Config.Config<A>, env: Record<string, string>) =>
  Effect.runSync(Effect.either(Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))))

const value = <A>(config: Config.Config<A>, env: Record<string, string>): A => {
  const r = read(config, env)
  if (r._tag === "Left") throw new Error(String(r.left))
  return r.right
}

const failure = <A>(config: Config.Config<A>, env: Record<string, string>): string => {
  const r = read(config, env)
  if (r._tag === "Right") throw new Error(`expected a failure, got ${JSON.stringify(r.right)}`)
  return String(r.left)
}

describe("ConfigVars", () => {
  it("integers: trimmed, range-checked, the default when unset or blank, one message form", () => {
    const port = ConfigVars.integer("PORT", 22, 1, 65_535)
    expect(value(port, {})).toBe(22)
    expect(value(port, { PORT: "   " })).toBe(22)
    expect(value(port, { PORT: " 2222 " })).toBe(2222)
    expect(value(ConfigVars.integer("OFFSET", 0, -10, 10), { OFFSET: "-3" })).toBe(-3)
    for (const bad of ["0", "65536", "1.5", "22ms", "0x16", "1e3"]) {
      expect(failure(port, { PORT: bad })).toContain(`PORT: "expected an integer 1..65535, got ${JSON.stringify(bad)}"`)
    }
  })

  it("property: an integer reads back exactly inside the range, with any surrounding blanks, and fails outside it", () => {
    const blank = fc.stringMatching(/^[ \t]{0,3}$/)
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), blank, blank, (n, before, after) => {
        const cfg = ConfigVars.integer("N", 0, -1000, 1000)
        const env = { N: `${before}${n}${after}` }
        if (n >= -1000 && n <= 1000) expect(value(cfg, env)).toBe(n)
        else expect(failure(cfg, env)).toContain(`N: "expected an integer -1000..1000, got "${n}""`)
      })
    )
  })

  it("numbers accept decimals within the range", () => {
    const pct = ConfigVars.number("PCT", 80, 0, 100)
    expect(value(pct, { PCT: "2.5" })).toBe(2.5)
    expect(value(pct, { PCT: ".5" })).toBe(0.5)
    expect(value(pct, { PCT: "100" })).toBe(100)
    expect(failure(pct, { PCT: "100.1" })).toContain('expected a number 0..100, got "100.1"')
    expect(failure(pct, { PCT: "NaN" })).toContain('expected a number 0..100, got "NaN"')
  })

  it("booleans read the same words for every variable, in any case", () => {
    const flag = ConfigVars.boolean("FLAG", false)
    for (const yes of ["true", "TRUE", "1", "yes", "On"]) expect(value(flag, { FLAG: yes })).toBe(true)
    for (const no of ["false", "0", "No", "off"]) expect(value(flag, { FLAG: no })).toBe(false)
    expect(value(ConfigVars.boolean("FLAG", true), { FLAG: "" })).toBe(true)
    expect(failure(flag, { FLAG: "yes please" })).toContain('FLAG: "expected true or false, got "yes please""')
  })

  it("lists drop blank entries; an unset or blank list keeps its default", () => {
    const deny = ConfigVars.list("DENY", ["/proc", "/sys"])
    expect(value(deny, {})).toEqual(["/proc", "/sys"])
    expect(value(deny, { DENY: " " })).toEqual(["/proc", "/sys"])
    expect(value(deny, { DENY: "/a, ,/b ," })).toEqual(["/a", "/b"])
  })

  it("literals: one of the values exactly, the default when unset", () => {
    const policy = ConfigVars.literal("POLICY", "warn", ["warn", "refuse"])
    expect(value(policy, {})).toBe("warn")
    expect(value(policy, { POLICY: " refuse " })).toBe("refuse")
    expect(failure(policy, { POLICY: "Refuse" })).toContain('POLICY: "expected one of warn, refuse, got "Refuse""')
  })

  it("required strings must be set and not blank; checked strings fall back when unset and name the expected form", () => {
    const url = ConfigVars.required("URL", "https://<host>:8006/api2/json")
    expect(value(url, { URL: " https://pve:8006/api2/json " })).toBe("https://pve:8006/api2/json")
    for (const env of [{}, { URL: "  " }]) expect(failure(url, env)).toContain("URL")
    expect(failure(url, {})).toContain("expected https://<host>:8006/api2/json")
    const dir = ConfigVars.checked("DIR", "/tmp", "an absolute path", (s) => s.startsWith("/"))
    expect(value(dir, { DIR: "" })).toBe("/tmp")
    expect(value(dir, { DIR: "/var/tmp" })).toBe("/var/tmp")
    expect(failure(dir, { DIR: "tmp" })).toContain('DIR: "expected an absolute path, got "tmp""')
  })

  it("optional strings are trimmed; blank is unset", () => {
    const node = ConfigVars.optionalString("NODE")
    expect(value(node, {})).toBeUndefined()
    expect(value(node, { NODE: "  " })).toBeUndefined()
    expect(value(node, { NODE: " pve " })).toBe("pve")
  })
})
