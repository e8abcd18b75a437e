# Build the Windows installer: a PyInstaller onedir bundle from packaging\induction-gui.spec,
# then an Inno Setup installer (dist\induction-gui-<version>-windows-x64-setup.exe).
#
# UNTESTED: written on Linux, where it cannot run. It mirrors build-linux.sh step by step.
#
# Needs: Python 3.11 (python.org or the py launcher), Inno Setup 6 (iscc.exe on PATH or in
# its default folder). Run from anywhere:  powershell -ExecutionPolicy Bypass -File packaging\windows\build-windows.ps1
# Set $env:PYTHON to choose the interpreter (default: py -3.11, else python).
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
Set-Location (Resolve-Path (Join-Path $PSScriptRoot "..\.."))

$PyInstallerVersion = "6.22.3"

# Native programs do not stop the script on failure by themselves: check every exit code.
# (No param block on purpose: a simple function passes "-m" and "--version" through in $args,
# where an advanced one would try to bind them as its own parameters.)
function Invoke-Checked {
    $Exe, $Rest = $args
    & $Exe @Rest
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Rest -join ' ') failed with exit code $LASTEXITCODE" }
}

if ($env:PYTHON) { $BasePython = $env:PYTHON; $BaseArgs = @() }
elseif (Get-Command py -ErrorAction SilentlyContinue) { $BasePython = "py"; $BaseArgs = @("-3.11") }
else { $BasePython = "python"; $BaseArgs = @() }

Write-Host "==> Build environment build\venv"
if (-not (Test-Path "build\venv\Scripts\python.exe")) {
    & $BasePython @BaseArgs -m venv build\venv
    if ($LASTEXITCODE -ne 0) { throw "could not create build\venv with $BasePython $BaseArgs" }
}
$Py = "build\venv\Scripts\python.exe"
$Meta = & $Py -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(p['name'], p['version'])"
$Name, $Version = $Meta.Trim().Split(" ")
Invoke-Checked $Py -m pip install -q --upgrade pip
Invoke-Checked $Py -m pip install -q "pyinstaller==$PyInstallerVersion"
# Install from a copy of what the wheel is built from (setuptools reuses a stale build\lib otherwise).
if (Test-Path "build\src") { Remove-Item -Recurse -Force "build\src" }
New-Item -ItemType Directory -Force "build\src" | Out-Null
Copy-Item -Recurse pyproject.toml, README.md, induction_gui, resources "build\src"
Invoke-Checked $Py -m pip install -q "build\src"

Write-Host "==> Icons"
Invoke-Checked $Py packaging\render_icons.py --out build\icons

Write-Host "==> PyInstaller bundle dist\$Name"
$env:INDUCTION_GUI_ICONS = (Resolve-Path "build\icons").Path
# the console script, not "python -m PyInstaller", which would bundle this checkout's sources
Invoke-Checked "build\venv\Scripts\pyinstaller.exe" --noconfirm --clean --log-level WARN `
    --distpath dist --workpath build\pyinstaller packaging\induction-gui.spec
Invoke-Checked "dist\$Name\$Name-cli.exe" --version
Invoke-Checked "dist\$Name\$Name-cli.exe" presets

Write-Host "==> Inno Setup installer"
$Iscc = Get-Command iscc -ErrorAction SilentlyContinue
if ($Iscc) { $Iscc = $Iscc.Source }
else { $Iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 not found (iscc.exe); install it from https://jrsoftware.org/isinfo.php" }
Invoke-Checked $Iscc "/DAppVersion=$Version" "/DSourceDir=$((Resolve-Path "dist\$Name").Path)" `
    "/DIconFile=$((Resolve-Path 'build\icons\induction-gui.ico').Path)" "/DOutputDir=$((Resolve-Path 'dist').Path)" `
    packaging\windows\induction-gui.iss

$Setup = "dist\$Name-$Version-windows-x64-setup.exe"
$BundleMB = [math]::Round(((Get-ChildItem -Recurse "dist\$Name" | Measure-Object -Sum Length).Sum) / 1e6, 1)
$SetupMB = [math]::Round((Get-Item $Setup).Length / 1e6, 1)
Write-Host "==> Summary"
Write-Host "bundle dist\$Name  $BundleMB MB"
Write-Host "installer $Setup  $SetupMB MB"
