use crate::common::{source_dir, text, TestEnv};

#[test]
fn the_retail_example_is_canonical() {
    let env = TestEnv::new();
    env.ferry()
        .args(["fmt", "--check", "--repo"])
        .arg(source_dir().join("examples/retail"))
        .assert()
        .success()
        .stdout("");
}

const MESSY: &str = "# a comment that fmt drops\r\n[spec]\r\nmode = \"basic\"\r\ncompute_sources = [\"compute_source/mc\"]\r\ndisplay_name = \"Sales\"\r\ndescription = \"line one\\nline two\\n\"\r\n\r\n[meta]\r\n";

#[test]
fn fmt_rewrites_to_canonical_form_and_assigns_guids() {
    let env = TestEnv::new();
    env.ferry().args(["init", "t"]).assert().success();
    let messy = format!(
        "name = \"sales\"\r\nkind = \"project\"\r\n{}",
        MESSY.replace("[meta]\r\n", "")
    );
    env.write("t/objects/global/project/sales.toml", &messy);
    let root = env.path().join("t");
    let out = env
        .ferry()
        .args(["fmt", "--check"])
        .current_dir(&root)
        .assert()
        .code(1);
    assert_eq!(
        text(&out.get_output().stdout, &env),
        "objects/global/project/sales.toml\n"
    );
    assert_eq!(
        env.read("t/objects/global/project/sales.toml"),
        messy,
        "--check changes nothing"
    );

    env.ferry().arg("fmt").current_dir(&root).assert().success();
    let formatted = env.read("t/objects/global/project/sales.toml");
    let guid_line = formatted.lines().nth(2).unwrap().to_string();
    assert!(guid_line.starts_with("guid = \""), "{formatted}");
    let expected = format!(
        "#:schema ../../../schemas/kinds/project.schema.json\nkind = \"project\"\n{guid_line}\nname = \"sales\"\n\n[spec]\ndisplay_name = \"Sales\"\ndescription = \"\"\"\nline one\nline two\n\"\"\"\nmode = \"basic\"\ncompute_sources = [\"compute_source/mc\"]\n"
    );
    assert_eq!(formatted, expected);
    env.ferry()
        .args(["fmt", "--check"])
        .current_dir(&root)
        .assert()
        .success()
        .stdout("");
}

#[test]
fn fmt_leaves_unparseable_files_alone() {
    let env = TestEnv::new();
    env.ferry().args(["init", "t"]).assert().success();
    let broken = "kind = \"project\"\nname = \"x\n";
    env.write("t/objects/global/project/x.toml", broken);
    let out = env
        .ferry()
        .arg("fmt")
        .current_dir(env.path().join("t"))
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr.starts_with("error[syntax]: objects/global/project/x.toml:2:"),
        "{stderr}"
    );
    assert_eq!(env.read("t/objects/global/project/x.toml"), broken);
}
