import { describe, expect, it } from "@effect/vitest"
import * as Tier from "@homelab-mcp/core/Tier"

describe("Tier.resolve", () => {
  it("defaults to observe", () => {
    expect(Tier.resolve(undefined, undefined)).toEqual({ _tag: "Resolved", tier: "observe", notes: [] })
  })
  it("turns root on only with companion and the exact acknowledgment", () => {
    expect(Tier.resolve("companion", Tier.ROOT_ACKNOWLEDGMENT)).toMatchObject({ _tag: "Resolved", tier: "root" })
    expect(Tier.resolve("companion", "true")).toMatchObject({ _tag: "Resolved", tier: "companion" })
    expect(Tier.resolve("companion", ` ${Tier.ROOT_ACKNOWLEDGMENT}`)).toMatchObject({ tier: "companion" })
    expect(Tier.resolve("companion", Tier.ROOT_ACKNOWLEDGMENT.toUpperCase())).toMatchObject({ tier: "companion", notes: [expect.stringContaining("ignored")] })
  })
  it("refuses the exact flag below companion and MCP_TIER=root", () => {
    expect(Tier.resolve("operate", Tier.ROOT_ACKNOWLEDGMENT)).toMatchObject({ _tag: "Invalid", variable: "MCP_HOST_ROOT_ENABLED" })
    expect(Tier.resolve("root", undefined)).toMatchObject({ _tag: "Invalid", variable: "MCP_TIER" })
    expect(Tier.resolve("Observe", undefined)).toMatchObject({ _tag: "Invalid", variable: "MCP_TIER" })
  })
  it("orders tiers", () => {
    expect(Tier.includes("root", "observe")).toBe(true)
    expect(Tier.includes("operate", "companion")).toBe(false)
  })
})
