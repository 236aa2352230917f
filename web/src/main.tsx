import { createRoot } from "react-dom/client";
import { App } from "./App";
import { readToken, takeHandoffCode } from "./session";
import "./styles.css";

// A browser that is logged in keeps its session: a hand-off never replaces it.
const handoff = takeHandoffCode();
createRoot(document.getElementById("root")!).render(<App handoff={readToken() ? null : handoff} />);
