"""The explorer (notebooks/04-explore.ipynb) in a real JupyterLab, driven by a real browser.

A JupyterLab server runs on 127.0.0.1 (a port the OS picks, a random token) with a temporary root
folder that holds a copy of the explorer notebook (papermill's parameter injection points it at a
copy of the three published sample tables) and temporary Jupyter config, data, runtime, settings
and workspace folders, so nothing of the person's own Jupyter set-up takes part. Headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, installed by scripts/install-browser.sh, which
``make test`` runs) opens the notebook through Selenium, runs every cell, picks another network
in the explorer's network box and checks that the plot (its PNG bytes) and the network's
description change to the chosen network. A screenshot goes to
reports/screenshots/explorer-jupyterlab.png. The server, its kernels and the browser are stopped
at the end, also when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import nnlife
from conftest import FIXTURES, ROOT

NOTEBOOK = ROOT / "notebooks" / "04-explore.ipynb"
SCREENSHOT = ROOT / "reports" / "screenshots" / "explorer-jupyterlab.png"
NEVER_LEARNS = "2021_02_15_13_56_59_917381"  # the published sample at chance level (about 1 %)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1400,1800",
]
# JupyterLab user settings: every cell attached to the page (so that the whole notebook is in the
# DOM, not only what is in view), no news or update checks (the machine has no network)
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _which(*names: str) -> str:
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    assert found, (
        f"none of {names} on PATH: run `bash scripts/install-browser.sh` (make test "
        "does; it installs Debian's chromium and chromium-driver)"
    )
    return found


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _request(url: str, method: str, timeout: float = 10.0) -> None:
    urllib.request.urlopen(
        urllib.request.Request(url, method=method, data=b"" if method == "POST" else None), timeout=timeout
    ).close()


class LabServer:
    """A JupyterLab server in its own process group, with everything under ``base``."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.token = secrets.token_hex(24)
        self.log_path = base / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        env = dict(os.environ)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("IPYTHONDIR", "ipython"),
            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
        ]:
            (base / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(base / sub)
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_PORT", None)
        for rel, values in LAB_SETTINGS.items():
            path = base / "lab-settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def start(self, ready_within_s: float = 120.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if os.geteuid() == 0:  # the tests may run as root (containers); JupyterLab asks to be told
            cmd.append("--allow-root")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + ready_within_s
        runtime = self.base / "runtime"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"JupyterLab exited ({self.proc.returncode}):\n{self.log()}"
            info = [json.loads(p.read_text()) for p in runtime.glob(f"jpserver-{self.proc.pid}.json")]
            if info and info[0].get("port"):
                self.port = int(info[0]["port"])
                try:
                    status = json.loads(_get(f"{self.url}/api/status?token={self.token}"))
                    if "started" in status:
                        return
                except OSError:
                    pass
            time.sleep(0.25)
        raise AssertionError(f"JupyterLab did not answer within {ready_within_s:.0f} s:\n{self.log()}")

    def kernels(self) -> list[dict]:
        return json.loads(_get(f"{self.url}/api/kernels?token={self.token}"))

    def stop(self) -> None:
        """Shut the kernels and the server down; kill what is left of the process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None and self.port:
            try:
                for k in self.kernels():
                    _request(f"{self.url}/api/kernels/{k['id']}?token={self.token}", "DELETE")
                _request(f"{self.url}/api/shutdown?token={self.token}", "POST")
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        try:  # anything of the server's process group still running (not the kernels: own session)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _explorer_copy(root: Path) -> Path:
    """The explorer notebook in ``root``, its parameters pointing at a copy of the samples."""
    import papermill.iorw
    import papermill.parameterize

    samples = root / "samples" / "original-format"
    samples.mkdir(parents=True)
    for p in sorted((FIXTURES / "original-format").glob("*.txt")):
        shutil.copy2(p, samples / p.name)
    nb = papermill.iorw.load_notebook_node(str(NOTEBOOK))  # nbformat.read plus papermill's metadata
    nb = papermill.parameterize.parameterize_notebook(
        nb, {"data": [str(samples)], "datasets": [], "out": str(root / "out")}
    )
    for cell in nb.cells:  # stored clean: no outputs, nothing executed
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target = root / NOTEBOOK.name
    nbformat.write(nb, target)
    return target


@pytest.fixture
def lab(tmp_path):
    server = LabServer(tmp_path / "lab")
    server.root.mkdir(parents=True)
    _explorer_copy(server.root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
    assert server.proc.poll() is not None


@pytest.fixture
def browser(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = _which("chromium", "chromium-browser", "google-chrome")
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    service = Service(executable_path=_which("chromedriver"), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


# --- what the page shows, read with small scripts in the page --------------------------------------

NOTEBOOK_STATE = """
const app = window.jupyterapp;
if (!app) return null;
// the notebook's panel: the current widget, or (headless Chromium 150 gives the page no focus,
// so the shell may track none) the open notebook in the main area, activated as a click would
let panel = app.shell.currentWidget;
if (!panel || !panel.sessionContext) {
  panel = [...app.shell.widgets('main')].find(w => w.sessionContext && w.content);
  if (panel) app.shell.activateById(panel.id);
}
if (!panel || !panel.content || !panel.sessionContext || !panel.context.isReady) return null;
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const cells = panel.content.widgets.filter(c => c.model.type === 'code');
return {kernel: kernel ? kernel.status : null, code_cells: cells.length,
        executed: cells.filter(c => c.model.executionCount !== null).length,
        errors: document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length};
"""

RUN_ALL = """
const done = arguments[arguments.length - 1];
window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => done(true), e => done(String(e)));
"""

EXPLORER_STATE = r"""
const area = document.querySelector('.widget-vbox .widget-output');
const box = [...document.querySelectorAll('.widget-dropdown')]
    .find(d => d.querySelector('label') && d.querySelector('label').textContent.trim() === 'network');
if (!area || !box) return null;
const img = area.querySelector('img');
return {network: box.querySelector('select').value.trim().split(/\s+/)[0], img: img ? img.src : null, text: area.innerText,
        options: [...box.querySelectorAll('option')].map(o => o.textContent)};
"""


def _wait(driver, what: str, check, within_s: float, server: LabServer):
    """Poll ``check(driver)`` until it returns something true; fail with the page and server log."""
    deadline = time.monotonic() + within_s
    last = None
    while time.monotonic() < deadline:
        last = check(driver)
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(
        f"{what}: not within {within_s:.0f} s (last state {last!r})\nserver log:\n{server.log()}"
    )


def test_explorer_in_jupyterlab(lab, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.set_script_timeout(300)
    browser.get(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}")
    _wait(
        browser,
        "the notebook opens with an idle kernel",
        lambda d: (s := d.execute_script(NOTEBOOK_STATE)) and s["kernel"] == "idle" and s,
        180,
        lab,
    )
    assert browser.execute_async_script(RUN_ALL) is True
    state = _wait(
        browser,
        "every code cell runs",
        lambda d: (
            (s := d.execute_script(NOTEBOOK_STATE))
            and s["kernel"] == "idle"
            and (s["executed"] == s["code_cells"] or s["errors"])  # run-all stops at an error
            and s
        ),
        300,
        lab,
    )
    assert state["errors"] == 0, browser.find_element(By.CSS_SELECTOR, ".jp-Notebook").text[-3000:]
    assert state["executed"] == state["code_cells"], state
    assert len(lab.kernels()) == 1

    # the explorer rendered as widgets: the three boxes and the first (best) network's plot
    before = _wait(
        browser,
        "the explorer draws its first network",
        lambda d: (s := d.execute_script(EXPLORER_STATE)) and s["img"] and s,
        120,
        lab,
    )
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".widget-dropdown label")]
    assert labels == ["dataset", "shape", "network"]
    assert len(before["options"]) == 3 and before["network"] != NEVER_LEARNS
    assert before["img"].startswith("data:image/png;base64,")
    params = {
        p.stem: nnlife.read_lifespan(p).net.n_params for p in (FIXTURES / "original-format").glob("*.txt")
    }
    assert f"\t{params[before['network']]}\n" in before["text"]  # its description: its parameter count

    # choose the network that never learns, as a person would: in the network box
    box = browser.find_element(
        By.XPATH, "//div[contains(@class,'widget-dropdown')][label[normalize-space()='network']]/select"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    Select(box).select_by_index(
        next(i for i, o in enumerate(before["options"]) if o.startswith(NEVER_LEARNS))
    )
    after = _wait(
        browser,
        "the explorer redraws for the chosen network",
        lambda d: (
            (s := d.execute_script(EXPLORER_STATE))
            and s["img"]
            and s["img"] != before["img"]
            and f"\t{params[NEVER_LEARNS]}\n" in s["text"]
            and s
        ),
        120,
        lab,
    )
    assert after["network"] == NEVER_LEARNS
    assert f"\t{params[before['network']]}\n" not in after["text"]
    assert browser.execute_script(NOTEBOOK_STATE)["errors"] == 0

    # a screenshot of the explorer as it now stands
    explorer = browser.find_element(By.CSS_SELECTOR, ".widget-vbox")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", explorer)
    time.sleep(0.5)  # let the scroll settle before the picture (nothing is timed)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT)) and SCREENSHOT.stat().st_size > 10_000
