// The app shell: a header of links to the views, the view, and the token form when the
// server asks for one.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { setToken, UNAUTHORIZED_EVENT } from "./api.ts";
import { href, parseRoute, VIEWS } from "./route.ts";
import "./style.css";
import { AlertsView } from "./views/alerts.tsx";
import { GraphView } from "./views/graph.tsx";
import { MatrixView } from "./views/matrix.tsx";
import { PolicyBoard } from "./views/policies.tsx";
import { WorkloadView } from "./views/workloads.tsx";

function TokenForm() {
  const [value, setValue] = useState("");
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value);
        location.reload();
      }}
    >
      <label>
        This server wants a bearer token:{" "}
        <input type="password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [unauthorized, setUnauthorized] = useState(false);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    const onUnauthorized = () => setUnauthorized(true);
    addEventListener("hashchange", onHash);
    addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => {
      removeEventListener("hashchange", onHash);
      removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    };
  }, []);
  const title = VIEWS.find((v) => v.id === route.view)?.title ?? "";
  useEffect(() => {
    document.title = `${title} · microseg`;
  }, [title]);
  return (
    <>
      <header>
        <strong class="brand">microseg</strong>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a key={v.id} href={href(v.id)} aria-current={route.view === v.id ? "page" : undefined}>
              {v.title}
            </a>
          ))}
        </nav>
      </header>
      {unauthorized && <TokenForm />}
      <main id="view" data-view={route.view}>
        {route.view === "graph" && <GraphView route={route} />}
        {route.view === "alerts" && <AlertsView route={route} />}
        {route.view === "policies" && <PolicyBoard route={route} />}
        {route.view === "workloads" && <WorkloadView route={route} />}
        {route.view === "matrix" && <MatrixView route={route} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app") as HTMLElement);
