'use strict'
// Loads the native addon (built by `npm install` from source when no binary for this platform
// ships) and adds the few things that are JavaScript by nature.

const path = require('node:path')
const { platformName } = require('./platform.js')

const file = path.join(__dirname, `mailwright.${platformName()}.node`)
let native
try {
  native = require(file)
} catch (e) {
  const err = new Error(
    `mailwright: cannot load ${path.basename(file)} (${e.message}). ` +
      'Run `npm install` (or `node build.js`) in the mailwright package to build it; that needs a Rust toolchain.',
  )
  err.code = 'EMAILWRIGHT_NO_ADDON'
  err.kind = 'usage'
  err.cause = e
  throw err
}

// Parts are plain JavaScript objects, made for all parts of a message from one native call and
// kept with the message: a call across napi costs about as much as making a small object, so
// native part objects with native getters spent more time crossing than parsing.
const LAYOUT_NUMBERS = 18
const KINDS = ['leaf', 'multipart', 'message']
const LAYOUT = Symbol('mailwright.layout')
const MINT = Symbol('mailwright.part')

/** One part of a message. */
class Part {
  #msg
  #index
  #l
  #at
  constructor(mint, msg, index, l, at) {
    if (mint !== MINT) throw new TypeError('Part objects come from a Message (message.parts)')
    this.#msg = msg
    this.#index = index
    this.#l = l
    this.#at = at
  }
  /** Its IMAP-style path (`1`, `2.1`; the root is ``). */
  get path() {
    return text(this.#l, this.#at, 0)
  }
  /** The content type, lower case (`application/pdf`). */
  get contentType() {
    return text(this.#l, this.#at, 1)
  }
  /** `multipart`, `message` or `leaf`. */
  get kind() {
    return KINDS[this.#l.n[this.#at]]
  }
  /** The transfer encoding as written (`7bit`, `base64`, `quoted-printable`…). */
  get transferEncoding() {
    return text(this.#l, this.#at, 2)
  }
  /** The file name, decoded and as a mail client shows it. */
  get filename() {
    return text(this.#l, this.#at, 3)
  }
  /** `attachment`, `inline`, or null. */
  get disposition() {
    return text(this.#l, this.#at, 4)
  }
  /** The Content-ID without brackets. */
  get contentId() {
    return text(this.#l, this.#at, 5)
  }
  /** The declared charset. */
  get charset() {
    return text(this.#l, this.#at, 6)
  }
  /** The decoded size in bytes. */
  get size() {
    return this.#l.n[this.#at + 1]
  }
  /**
   * The content with its transfer encoding undone: a view of the message's buffer (no copy)
   * where there was nothing to decode, else a new Buffer.
   */
  get content() {
    const start = this.#l.n[this.#at + 2]
    if (start < 0) return native._content(this.#msg, this.#index)
    const raw = this.#l.raw ?? (this.#l.raw = this.#msg.raw)
    const size = this.#l.n[this.#at + 1]
    // A detached or shrunk input (its ArrayBuffer transferred) gets a copy from the parse instead.
    if (raw.byteLength < start + size) return native._content(this.#msg, this.#index)
    return Buffer.from(raw.buffer, raw.byteOffset + start, size)
  }
  /** The content as text (transfer-decoded, charset converted). */
  get text() {
    return native._text(this.#msg, this.#index)
  }
  /** This part's own header fields. */
  get headers() {
    return this.#msg._headers(this.#index)
  }
  /** What it is, without its content (for logs). */
  toJSON() {
    const { path, kind, contentType, filename, disposition, size } = this
    return { path, kind, contentType, filename, disposition, size }
  }
  [Symbol.for('nodejs.util.inspect.custom')](depth, options, inspect) {
    return `Part ${inspect(this.toJSON(), options)}`
  }
}

// Text `k` of the part whose numbers start at `at` (see `Message::layout` in src/parse.rs).
function text(l, at, k) {
  const start = l.n[at + 4 + 2 * k]
  return start < 0 ? null : l.s.slice(start, l.n[at + 5 + 2 * k])
}

// Where `_layout` writes the messages' numbers (see src/fast.rs), one after the other; each
// message keeps a view of its own (so a message kept keeps its array, 64 KB, alive). A new array
// is made when one is full: an ArrayBuffer per message (its memory outside V8's heap, tracked and
// swept) cost more than the rest of the call.
const POOL = 8192
let numbers = new Float64Array(POOL)
let used = 0

function layout(msg) {
  let l = msg[LAYOUT]
  if (l === undefined) {
    if (used === numbers.length) {
      numbers = new Float64Array(POOL)
      used = 0
    }
    let s = native._layout(msg, numbers, used)
    const count = numbers[used]
    if (count >= numbers.length - used) {
      numbers = new Float64Array(Math.max(POOL, count + 1))
      used = 0
      s = native._layout(msg, numbers, 0)
    }
    const n = numbers.subarray(used + 1, used + 1 + count)
    used += count + 1
    l = { s, n, parts: [], attachments: [], raw: null }
    const { parts, attachments } = l
    for (let i = 0, at = 0; at < n.length; i++, at += LAYOUT_NUMBERS) {
      const p = new Part(MINT, msg, i, l, at)
      parts.push(p)
      if (n[at + 3] === 1) attachments.push(p)
    }
    Object.defineProperty(msg, LAYOUT, { value: l })
  }
  return l
}

Object.defineProperties(native.Message.prototype, {
  parts: {
    /** Every part, depth first, the root first. */
    get() {
      return layout(this).parts.slice()
    },
    enumerable: true,
    configurable: true,
  },
  attachments: {
    /** The parts that are files. */
    get() {
      return layout(this).attachments.slice()
    },
    enumerable: true,
    configurable: true,
  },
})

// A rule's handler may be sync or async; the core waits for a Promise either way. The core hands
// over the paths of the selected attachments; the handler gets the message's Part objects.
const addRule = native.Mailbot.prototype.rule
native.Mailbot.prototype.rule = function rule(spec, handler) {
  if (handler === undefined || handler === null) return addRule.call(this, spec)
  if (typeof handler !== 'function') throw new TypeError('handler must be a function')
  return addRule.call(this, spec, async (message, paths) => {
    const parts = layout(message).parts
    await handler(
      message,
      paths.map((path) => parts.find((p) => p.path === path)).filter((p) => p !== undefined),
    )
  })
}

/** Whether `e` is an error from mailwright (it has a string `code` and `kind`). */
function isMailwrightError(e) {
  return e instanceof Error && typeof e.code === 'string' && typeof e.kind === 'string'
}

module.exports = native
module.exports.Part = Part
module.exports.isMailwrightError = isMailwrightError
