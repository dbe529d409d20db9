/**
 * A session's progress over time: tasks finished, running and queued (left axis) and the
 * throughput, finished tasks per second between two points (right axis). Drawn by uPlot, resized
 * with its container so it fits a phone as well as a desktop.
 */
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { History } from "./types.ts";

/** uPlot's columns: time (s), finished, running, queued, throughput. */
function chartData(history: History): uPlot.AlignedData {
  const xs: number[] = [];
  const finished: number[] = [];
  const running: number[] = [];
  const queued: number[] = [];
  const throughput: Array<number | null> = [];
  for (const p of history.points) {
    const t = Date.parse(p.at) / 1_000;
    const done = p.succeeded + p.failed + p.cancelled;
    const prevT = xs.at(-1);
    const prevDone = finished.at(-1);
    throughput.push(
      prevT === undefined || prevDone === undefined || t <= prevT ? null : (done - prevDone) / (t - prevT),
    );
    xs.push(t);
    finished.push(done);
    running.push(p.running);
    queued.push(p.queued);
  }
  return [xs, finished, running, queued, throughput];
}

const HEIGHT = 220;

/** The chart of `history`. */
export function HistoryChart({ history }: { history: History }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot(
      {
        width: el.clientWidth,
        height: HEIGHT,
        scales: { x: { time: true }, rate: {} },
        axes: [{}, { label: "tasks" }, { scale: "rate", side: 1, grid: { show: false }, label: "tasks/s" }],
        series: [
          {},
          { label: "finished", stroke: "#2a7d4f", width: 2 },
          { label: "running", stroke: "#1f6feb" },
          { label: "queued", stroke: "#8a8f98" },
          { label: "throughput", stroke: "#c2410c", scale: "rate", dash: [4, 4] },
        ],
      },
      chartData(history),
      el,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(chartData(history));
  }, [history]);
  return html`<div class="chart" ref=${box} role="img" aria-label="tasks finished, running and queued over time"></div>`;
}
