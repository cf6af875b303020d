/**
 * @internal GNU-style argument parsing over evaluated fields: short clusters (`-rf`), options anywhere
 * (`chmod 777 -R /`), long options with `=` or a separate value, and `--` ending options.
 */

export interface ArgSpec {
  /** Short option letters that take a value (`-t DIR`, `-tDIR`). */
  readonly shortWithArg?: string
  /** Long option names (without `--`) that take a separate value when no `=` is given. */
  readonly longWithArg?: ReadonlyArray<string>
  /** Stop at the first operand (wrappers: the rest is the command). */
  readonly stopAtOperand?: boolean
}

export interface ParsedArgs {
  /** Short letters seen, with their value when they take one. */
  readonly short: Map<string, Array<string>>
  /** Long options seen (name without `--`), with their value (`""` when none). */
  readonly long: Map<string, Array<string>>
  readonly operands: Array<string>
  /** Index in the input of the first operand when `stopAtOperand` (args.length when none). */
  readonly rest: number
}

const push = (m: Map<string, Array<string>>, k: string, v: string) => {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

export const parseArgs = (args: ReadonlyArray<string>, spec: ArgSpec = {}): ParsedArgs => {
  const short = new Map<string, Array<string>>()
  const long = new Map<string, Array<string>>()
  const operands: Array<string> = []
  const withArg = spec.shortWithArg ?? ""
  const longWithArg = new Set(spec.longWithArg ?? [])
  let i = 0
  for (; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") {
      i++
      if (spec.stopAtOperand) return { short, long, operands, rest: i }
      operands.push(...args.slice(i))
      i = args.length
      break
    }
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=")
      if (eq >= 0) push(long, a.slice(2, eq), a.slice(eq + 1))
      else {
        const name = a.slice(2)
        if (longWithArg.has(name) && i + 1 < args.length) push(long, name, args[++i]!)
        else push(long, name, "")
      }
      continue
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!
        if (withArg.includes(c)) {
          const attached = a.slice(j + 1)
          if (attached.length > 0) push(short, c, attached)
          else if (i + 1 < args.length) push(short, c, args[++i]!)
          else push(short, c, "")
          break
        }
        push(short, c, "")
      }
      continue
    }
    if (spec.stopAtOperand) return { short, long, operands, rest: i }
    operands.push(a)
  }
  return { short, long, operands, rest: args.length }
}

export const hasShort = (p: ParsedArgs, letters: string): boolean => [...letters].some((c) => p.short.has(c))
export const hasLong = (p: ParsedArgs, ...names: ReadonlyArray<string>): boolean => names.some((n) => p.long.has(n))
