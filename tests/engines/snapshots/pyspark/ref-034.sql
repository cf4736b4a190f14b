SELECT
  COUNT(*) AS `n_airports`
FROM (
  SELECT
    `t2`.`faa`,
    `t2`.`name`,
    `t2`.`lat`,
    `t2`.`lon`,
    `t2`.`alt`,
    `t2`.`tz`,
    `t2`.`dst`,
    `t2`.`tzone`
  FROM `airports` AS `t2`
  LEFT ANTI JOIN `flights` AS `t3`
    ON `t2`.`faa` = `t3`.`dest`
) AS `t4`
