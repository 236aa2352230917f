import { createRoot } from "react-dom/client";
import { App } from "./App";
import { adoptFragmentToken } from "./session";
import "./styles.css";

adoptFragmentToken();
createRoot(document.getElementById("root")!).render(<App />);
