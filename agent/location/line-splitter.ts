// Splits a text stream into lines with a hard cap per line, so a peer that never sends a
// newline cannot make us buffer without bound: an over-long line is dropped whole.
export class LineSplitter {
  readonly #max: number;
  #buf = '';
  #discarding = false;
  /** Lines dropped for exceeding the cap. */
  dropped = 0;

  constructor(maxLineLength: number) {
    this.#max = maxLineLength;
  }

  push(chunk: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.#discarding || this.#buf.length + piece.length > this.#max) {
        if (!this.#discarding) this.dropped++;
        this.#discarding = false;
        this.#buf = '';
        continue;
      }
      out.push((this.#buf + piece).replace(/\r$/, ''));
      this.#buf = '';
    }
    const rest = chunk.slice(start);
    if (this.#discarding) return out;
    if (this.#buf.length + rest.length > this.#max) {
      this.dropped++;
      this.#discarding = true;
      this.#buf = '';
    } else {
      this.#buf += rest;
    }
    return out;
  }

  reset(): void {
    this.#buf = '';
    this.#discarding = false;
  }
}
