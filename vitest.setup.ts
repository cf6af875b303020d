import { addEqualityTesters } from "@effect/vitest"
import * as Data from "effect/Data"

addEqualityTesters()

// chai prints a value through its `inspect` hooks; an Effect error's Node inspect hook returns the error
// itself, so chai printed it again and again until the stack overflowed, and a failed assertion on an error
// reported "Maximum call stack size exceeded" instead of its own message. chai's own hook comes first:
// an Effect error prints as its fields and message.
Object.defineProperty(Object.getPrototypeOf(Data.Error.prototype), Symbol.for("chai/inspect"), {
  configurable: true,
  value(this: Error) {
    return { ...this, message: this.message }
  }
})
