/**
 * PVE response normalization on the fallbacks (census-health.md §1.1, §1.4): kernel from `kversion` when
 * `current-kernel` is missing or empty, unusable memory numbers, the census `host` when the inputs are
 * blank or host-less, and the `0|1` flag codec.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Pve from "@homelab-mcp/core/census/Pve"

describe("parseKernel", () => {
  it("an empty current-kernel.release falls back to the second word of kversion", () => {
    expect(Pve.parseKernel({ "current-kernel": { release: "" }, kversion: "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC" })).toBe("6.8.12-4-pve")
  })
  it("kversion alone (older releases) is read, with surrounding whitespace ignored", () => {
    expect(Pve.parseKernel({ kversion: "  Linux 5.15.158-2-pve #1 SMP PVE 5.15.158-2  " })).toBe("5.15.158-2-pve")
  })
  it("no release and no usable kversion is null, not a guess", () => {
    expect(Pve.parseKernel({})).toBeNull()
    expect(Pve.parseKernel({ kversion: "Linux" })).toBeNull()
    expect(Pve.parseKernel({ "current-kernel": { sysname: "Linux" } })).toBeNull()
  })
})

describe("parseVersion", () => {
  it("keeps a pre-release suffix and trims whitespace; a version without a dot is rejected", () => {
    expect(Pve.parseVersion(" pve-manager/8.4.0~rc1/abcdef ")).toBe("8.4.0~rc1")
    expect(Pve.parseVersion("pve-manager/8/abcdef")).toBeNull()
  })
})

describe("parseQemuMemoryBytes", () => {
  it("a non-finite number is null", () => {
    expect(Pve.parseQemuMemoryBytes(Number.NaN)).toBeNull()
    expect(Pve.parseQemuMemoryBytes(Number.POSITIVE_INFINITY)).toBeNull()
  })
  it("a property string without current= (balloon only) is null; a padded bare number is read", () => {
    expect(Pve.parseQemuMemoryBytes("balloon=512,shares=100")).toBeNull()
    expect(Pve.parseQemuMemoryBytes(" 1024 ")).toBe(1024 * 1024 * 1024)
    expect(Pve.parseQemuMemoryBytes("current=2g")).toBeNull()
  })
  it("other types are null", () => {
    expect(Pve.parseQemuMemoryBytes({ current: 1024 })).toBeNull()
    expect(Pve.parseQemuMemoryBytes(null)).toBeNull()
  })
})

describe("deriveHost", () => {
  it("SSH_HOST is trimmed; a blank SSH_HOST falls back to the API URL", () => {
    expect(Pve.deriveHost("  node.lan  ", "https://other:8006")).toBe("node.lan")
    expect(Pve.deriveHost("   ", "https://pve.example:8006/api2/json")).toBe("pve.example")
  })
  it("neither set is null", () => {
    expect(Pve.deriveHost(undefined, undefined)).toBeNull()
    expect(Pve.deriveHost("", undefined)).toBeNull()
  })
  it("a URL without a host is null", () => {
    expect(Pve.deriveHost(undefined, "file:///etc/pve/local")).toBeNull()
    expect(Pve.deriveHost(undefined, "mailto:root@pve")).toBeNull()
  })
})

describe("the PVE flag and numeric codecs", () => {
  const flag = Schema.decodeUnknownSync(Pve.Flag)
  it("decodes 1, '1' and true as true; 0, '0', false and other strings as false", () => {
    expect([1, "1", true].map((v) => flag(v))).toEqual([true, true, true])
    expect([0, "0", false, "yes", 2].map((v) => flag(v))).toEqual([false, false, false, false, false])
  })
  it("encodes back to 0|1", () => {
    expect(Schema.encodeSync(Pve.Flag)(true)).toBe(1)
    expect(Schema.encodeSync(Pve.Flag)(false)).toBe(0)
  })
  it("Numeric accepts numbers and numeric strings, and rejects other strings", () => {
    const num = Schema.decodeUnknownSync(Pve.Numeric)
    expect(num(3)).toBe(3)
    expect(num("3800.000")).toBe(3800)
    expect(() => num("fast")).toThrow()
  })
  it("configFlag reads only 1, '1' and true", () => {
    expect([1, "1", true, 0, "0", "yes", undefined].map(Pve.configFlag)).toEqual([true, true, true, false, false, false, false])
  })
})
