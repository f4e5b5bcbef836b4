// JSON.parse keeps the last of two equal keys, so `{"release":1,"release":100}` reads as 100 while
// another parser (a hub, an auditor's tool) may read 1: two readings of the same signed bytes.
// Signed documents are therefore refused when any object repeats a key.

/**
 * Parses `text` like JSON.parse and throws (a plain Error naming the key) when any object has the
 * same key twice, after unescaping ("a" and "\u0061" are the same key).
 */
export function parseJsonNoDuplicates(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // The text is valid JSON now, so a small scanner suffices: strings, and object/array nesting.
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) throw new Error(`duplicate key ${JSON.stringify(key)}`);
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return value;
}
