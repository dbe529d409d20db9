/**
 * The dashboard's entry: hash routes (#/sessions, #/sessions/ID, #/sessions/ID/tasks/N, #/fleet),
 * so any static server can serve it, and the page frame around them.
 */
import { html, render } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { FleetPage } from "./pages/fleet.ts";
import { SessionPage } from "./pages/session.ts";
import { SessionsPage } from "./pages/sessions.ts";
import { TaskPage } from "./pages/task.ts";
import "./style.css";

/** A parsed hash route. */
type Route =
  | { page: "sessions"; query: URLSearchParams }
  | { page: "session"; sessionId: string }
  | { page: "task"; sessionId: string; taskId: string }
  | { page: "fleet" };

/** The route of a location hash; anything unknown is the sessions list. */
function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "fleet") return { page: "fleet" };
  if (parts[0] === "sessions" && parts[1] !== undefined) {
    if (parts[2] === "tasks" && parts[3] !== undefined)
      return { page: "task", sessionId: parts[1], taskId: parts[3] };
    return { page: "session", sessionId: parts[1] };
  }
  return { page: "sessions", query: new URLSearchParams(search) };
}

/** Moves the keyboard focus to the page's heading (focusable by script only). */
function focusHeading(): void {
  const h1 = document.querySelector<HTMLElement>("main h1");
  if (!h1) return;
  h1.tabIndex = -1;
  h1.focus({ preventScroll: true });
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return hash;
}

function App() {
  const route = parseRoute(useHash());
  useEffect(() => {
    // A new page starts at its top, and keyboard users start at its heading.
    window.scrollTo(0, 0);
    focusHeading();
  }, [route.page, "sessionId" in route ? route.sessionId : "", "taskId" in route ? route.taskId : ""]);
  const page =
    route.page === "fleet"
      ? html`<${FleetPage} />`
      : route.page === "task"
        ? html`<${TaskPage} key=${`${route.sessionId}/${route.taskId}`} sessionId=${route.sessionId} taskId=${route.taskId} />`
        : route.page === "session"
          ? html`<${SessionPage} key=${route.sessionId} sessionId=${route.sessionId} />`
          : html`<${SessionsPage} query=${route.query} />`;
  const current = (name: string) =>
    route.page === name || (name === "sessions" && route.page !== "fleet") ? "page" : undefined;
  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => {
      e.preventDefault();
      focusHeading();
    }}>Skip to content</a>
    <header>
      <a class="brand" href="#/sessions">Tessera</a>
      <nav aria-label="main">
        <a href="#/sessions" aria-current=${current("sessions")}>Sessions</a>
        <a href="#/fleet" aria-current=${current("fleet")}>Fleet</a>
      </nav>
    </header>
    <main id="main">${page}</main>`;
}

render(html`<${App} />`, document.getElementById("app")!);
