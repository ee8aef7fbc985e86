// A one-line status on stderr for long operations, redrawn in place while it runs and erased
// when done; only on a terminal, so pipes and logs stay clean.

export interface Progress {
  /** What is happening now (`applying 10000 objects`); the elapsed time is added. */
  phase(text: string): void;
  done(): void;
}

const QUIET: Progress = { phase() {}, done() {} };
const REDRAW_MS = 100;

export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return QUIET;
  const started = Date.now();
  let text = "";
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${text} (${seconds}s)`);
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    phase(next) {
      text = next;
      draw();
    },
    done() {
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
