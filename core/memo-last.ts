/**
 * `make`'s result for the arguments it was last called with, made again only when one of them
 * differs (Object.is). The reasons the agent journals are built from a few parts per file, and a
 * directory's files give the same parts one after another: the same string object comes back, so
 * the journal's documents, which share strings by value through a Map, hash it once, and no string
 * is built per file.
 */
export function memoLast<A extends readonly unknown[], R>(make: (...args: A) => R): (...args: A) => R {
  let last: { args: A; result: R } | undefined;
  return (...args: A): R => {
    if (last && last.args.length === args.length && last.args.every((a, i) => Object.is(a, args[i]))) return last.result;
    const result = make(...args);
    last = { args, result };
    return result;
  };
}
