/**
 * Group commit for one event loop: items submitted in the same turn, or while the previous
 * batch is still being processed, reach `run` together, so eight agents ending at once cost
 * one store transaction instead of eight. `run` returns one result per item, in order; when it
 * throws, every item of that batch is rejected with the error.
 */
export function batched<I, R>(run: (items: I[]) => Promise<R[]>): (item: I) => Promise<R> {
  let waiting: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let busy = false;
  const flush = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        const results = await run(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i] as R));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    busy = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!busy) {
        busy = true;
        setImmediate(() => void flush());
      }
    });
}
