; Inno Setup 6 script: a per-user (or, if chosen, all-users) installer of the PyInstaller bundle.
; UNTESTED: written on Linux, where neither PyInstaller's Windows build nor Inno Setup can run.
; build-windows.ps1 compiles it with the defines below; by hand:
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\induction-gui /DIconFile=build\icons\induction-gui.ico
;        /DOutputDir=dist packaging\windows\induction-gui.iss

#ifndef AppVersion
  #error Pass /DAppVersion=<version from pyproject.toml> (build-windows.ps1 does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\induction-gui"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\induction-gui.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#define AppName "Induction Head Explorer"
#define AppExe "induction-gui.exe"

[Setup]
; The AppId identifies the app across versions (upgrades, uninstall): never change it.
AppId={{5BD97F6F-0D5D-4414-85C4-DB7CAF06513B}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Learners often have no administrator rights: install for the current user unless they ask otherwise.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=induction-gui-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole onedir bundle: induction-gui.exe (window), induction-gui-cli.exe (console: the
; sub-commands presets, check, export, train, export-script) and _internal\.
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade must not keep modules or Qt plugins that the new version no longer ships.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
